// fixedq tests: main(). Prints the run's random seed and how to repeat the run.
#include <cstdio>

#include "test_support.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 0) fqt::set_program_name(argv[0]);
  std::printf("fixedq tests: random seed %llu (repeat with FIXEDQ_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(fqt::global_seed()),
              static_cast<unsigned long long>(fqt::global_seed()));
  return RUN_ALL_TESTS();
}
