// Built against an installed fixedq; prints "ok" and exits 0 only if the core computes as expected.
#include <fixedq/fixedq.hpp>
#include <fixedq/version.hpp>

#include <iostream>
#include <string>

int main() {
    using fixedq::Fixed16_16;
    const Fixed16_16 a{1.5};
    const Fixed16_16 b{2.25};
    const std::string product = fixedq::to_string(a * b);
    const bool ok = product == "3.375" && (a * b).raw() == 3 * 65536 + 24576;
    std::cout << "fixedq_consumer: fixedq " << FIXEDQ_VERSION_STRING << ", C++ " << __cplusplus
              << ": 1.5 * 2.25 = " << product << (ok ? " ok" : " WRONG") << '\n';
    return ok ? 0 : 1;
}
