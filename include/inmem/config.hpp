// inmem/config.hpp: the library's version and the only macros it defines.
//
// Every macro is prefixed INMEM_. Internal helpers are #undef'd again at the end of the
// headers that use them, so user code never sees them.
#pragma once

#include <bit>

#define INMEM_VERSION_MAJOR 0
#define INMEM_VERSION_MINOR 1
#define INMEM_VERSION_PATCH 0

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "inmem: mixed-endian platforms are not supported");

#if defined(__GNUC__) || defined(__clang__)
#define INMEM_LIKELY(x) __builtin_expect(!!(x), 1)
#define INMEM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define INMEM_LIKELY(x) (x)
#define INMEM_UNLIKELY(x) (x)
#endif
