// Must not compile: a rounding policy given as the overflow policy.
#include <fixedq/fixed.hpp>

fixedq::Fixed<8, 8, fixedq::round::floor, fixedq::round::floor> x;
