// inmem/vectors/collection.hpp: a vector collection as the schema declares it, and the record
// each of its vectors is stored as.
//
//   struct Doc { std::string source; int page = 0; };
//   using docs = inmem::collection<Doc, 384, inmem::metric::cosine>;
//   using my_schema = inmem::schema<inmem::kv<Fact>, inmem::vectors<docs>>;
//   auto vectors = db.vectors<Doc>();          // or db.vectors<docs>()
#pragma once

#include <inmem/vectors/distance.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace inmem {

/// A collection of vectors of Dimension floats, each with metadata of type Meta, compared by
/// Metric: list it in the schema's inmem::vectors<...>. Dimension and metric are part of the
/// schema's fingerprint (a database written with others is refused at open). It is also the
/// record each vector is stored as (as JSON, a replay or a diff show it): its embedding as
/// written, its metadata, and the time of the write by the database's clock.
template <class Meta, std::size_t Dimension, metric Metric = metric::cosine>
struct collection {
    static_assert(Dimension > 0 && Dimension <= 65536,
                  "inmem: a collection's dimension is between 1 and 65536 floats");
    static_assert(Metric == metric::l2 || Metric == metric::inner_product || Metric == metric::cosine,
                  "inmem: a collection's metric is inmem::metric::l2, inner_product or cosine");

    std::array<float, Dimension> embedding{};
    Meta meta{};
    std::int64_t written_ns = 0; ///< when it was written: ns since the epoch, by the database's clock
};

namespace detail {
template <class T>
struct collection_traits {
    static constexpr bool is_collection = false;
};
template <class Meta, std::size_t D, metric M>
struct collection_traits<collection<Meta, D, M>> {
    static constexpr bool is_collection = true;
    using meta_type = Meta;
    static constexpr std::size_t dimension = D;
    static constexpr metric distance = M;
};
} // namespace detail

/// True when C is an inmem::collection<Meta, Dimension, Metric>.
template <class C>
concept vector_collection = detail::collection_traits<C>::is_collection;

} // namespace inmem
