// Must not compile: the total width I + F is 6, not 8, 16, 32 or 64.
#include <fixedq/fixed.hpp>

fixedq::Fixed<3, 3> x;
