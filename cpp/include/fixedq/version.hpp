// fixedq: version of the header-only core.
#pragma once

#define FIXEDQ_VERSION_MAJOR 0
#define FIXEDQ_VERSION_MINOR 1
#define FIXEDQ_VERSION_PATCH 0
#define FIXEDQ_VERSION_STRING "0.1.0"
