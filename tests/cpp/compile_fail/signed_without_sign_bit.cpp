// Must not compile: a signed format needs I >= 1 (I counts the sign bit).
#include <fixedq/fixed.hpp>

fixedq::Fixed<0, 8> x;
