// inmem/primitives/traces.hpp: the trace store (being written).
#pragma once

#include <inmem/schema/schema.hpp>

namespace inmem {
struct trace_family;
} // namespace inmem
