// Must not compile: arithmetic takes one format; convert (or use multiply<To>) first.
#include <fixedq/fixed.hpp>

auto x = fixedq::Q7{} + fixedq::Q15{};
