// Must not compile: conversions between formats are explicit.
#include <fixedq/fixed.hpp>

fixedq::Q15 x = fixedq::Q7{};
