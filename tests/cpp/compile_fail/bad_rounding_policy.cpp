// Must not compile: int is not a rounding policy.
#include <fixedq/fixed.hpp>

fixedq::Fixed<8, 8, int> x;
