// Built against an installed fixedq::kernels; prints "ok" and exits 0 only if an int8 dot
// product through the dispatched path is right.
#include <fixedq/kernels/int8/int8.hpp>

#include <cstdint>
#include <iostream>

int main() {
    const std::uint8_t a[5] = {255, 0, 1, 128, 255};
    const std::int8_t b[5] = {-128, 127, 1, -1, 127};
    const std::int32_t got = fixedq::kernels::int8::dot_u8s8(a, b, 5);
    const std::int32_t want = 255 * -128 + 0 * 127 + 1 * 1 + 128 * -1 + 255 * 127;  // -382
    const bool ok = got == want;
    std::cout << "fixedq_consumer_kernels: int8 path " << fixedq::kernels::int8::isa() << ": dot = " << got
              << (ok ? " ok" : " WRONG") << '\n';
    return ok ? 0 : 1;
}
