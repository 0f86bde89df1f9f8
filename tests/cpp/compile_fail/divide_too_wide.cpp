// Must not compile: this exact quotient needs more than 128 bits (the documented limit of
// divide<To>): UFixed<0,64> from Fixed32_32 / Q63 needs 64 + 64 + 63 - 32 = 159 bits.
#include <fixedq/fixed.hpp>

auto q = fixedq::divide<fixedq::UFixed<0, 64>>(fixedq::Fixed32_32{}, fixedq::Fixed<1, 63>{});
