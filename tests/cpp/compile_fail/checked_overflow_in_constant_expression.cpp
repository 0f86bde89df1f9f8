// Must not compile: a checked overflow in a constant expression is a compile-time error.
#include <fixedq/fixed.hpp>

using C = fixedq::Fixed<1, 7, fixedq::round::half_even, fixedq::overflow::checked>;
constexpr C x = C::from_raw(127) + C::from_raw(1);
