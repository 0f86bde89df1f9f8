// Must not compile: F < 0.
#include <fixedq/fixed.hpp>

fixedq::Fixed<9, -1> x;
