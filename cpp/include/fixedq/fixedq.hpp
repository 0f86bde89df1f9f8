// fixedq: the whole header-only core.
#pragma once

#include "fixed.hpp"
#include "io.hpp"
#include "math.hpp"
#include "policy.hpp"
#include "version.hpp"
