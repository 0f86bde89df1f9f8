// Must compile: the valid counterparts of the other files here, so that a failure of the
// compile-failure tests to fail is not an artefact of the harness.
#include <fixedq/fixed.hpp>

fixedq::Fixed<4, 4> a;
fixedq::UFixed<8, 8> b;
fixedq::Fixed<1, 7> c;
fixedq::UFixed<0, 8> d;
fixedq::Fixed<8, 8, fixedq::round::floor, fixedq::overflow::wrap> e;
fixedq::Q15 f{0.5};
double g = static_cast<double>(fixedq::Q15{});
fixedq::Q15 h = fixedq::Q15(fixedq::Q7{});
auto i = fixedq::Q15(fixedq::Q7{}) + fixedq::Q15{};
using C = fixedq::Fixed<1, 7, fixedq::round::half_even, fixedq::overflow::checked>;
constexpr C j = C::from_raw(126) + C::from_raw(1);
auto k = fixedq::divide<fixedq::Fixed<64, 0>>(fixedq::Fixed32_32{}, fixedq::Fixed<1, 63>{1});
