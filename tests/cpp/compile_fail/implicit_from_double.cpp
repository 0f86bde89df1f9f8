// Must not compile: conversions from floating point are explicit.
#include <fixedq/fixed.hpp>

fixedq::Q15 x = 0.5;
