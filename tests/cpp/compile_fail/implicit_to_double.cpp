// Must not compile: conversions to floating point are explicit.
#include <fixedq/fixed.hpp>

double d = fixedq::Q15{};
