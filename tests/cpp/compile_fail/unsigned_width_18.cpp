// Must not compile: UFixed<9, 9> is 18 bits wide.
#include <fixedq/fixed.hpp>

fixedq::UFixed<9, 9> x;
