// inmem/vectors/collection.hpp: a vector collection as the schema declares it, and the record
// each of its vectors is stored as.
//
//   struct Doc { std::string source; int page = 0; };
//   using docs = inmem::collection<Doc, 384, inmem::metric::cosine>;
//   using my_schema = inmem::schema<inmem::kv<Fact>, inmem::vectors<docs>>;
//   auto vectors = db.vectors<Doc>();          // or db.vectors<docs>()
//
// A collection is searched exactly (a scan of every vector) until it holds Threshold vectors,
// then through an HNSW graph (vectors/hnsw.hpp) kept up to date on commit. Options after the
// metric, in any order: inmem::hnsw<...> sets the graph's shape and the threshold
// (inmem::exact never builds one); inmem::store_float16 or inmem::store_int8 keep the index's
// vectors in 2 or 1 bytes a dimension instead of 4, searched by those codes and ranked again
// exactly by the stored float32 embeddings:
//
//   using docs = inmem::collection<Doc, 384, inmem::metric::cosine, inmem::hnsw<32>, inmem::store_int8>;
#pragma once

#include <inmem/policy.hpp>
#include <inmem/vectors/distance.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace inmem {

namespace detail {
// The kinds of a collection's options, picked among them as basic_database picks its
// policies (policy.hpp's select_policy_t).
struct collection_index_kind {};
struct collection_storage_kind {};
} // namespace detail

/// How a collection is indexed: exactly while it holds fewer than Threshold vectors, then with
/// an HNSW graph of M links per node (2M on its bottom level), each insertion choosing them
/// among EfConstruction candidates; searches keep EfSearch candidates (at least k) unless
/// told otherwise. Larger M and ef: better recall, slower inserts and searches.
template <std::size_t M = 16, std::size_t EfConstruction = 200, std::size_t Threshold = 10000,
          std::size_t EfSearch = 64>
struct hnsw {
    using policy_kind = detail::collection_index_kind;
    static_assert(M >= 2 && M <= 256, "inmem::hnsw<M, ...>: M (links per node) is between 2 and 256");
    static_assert(EfConstruction >= M, "inmem::hnsw<M, EfConstruction, ...>: EfConstruction is at least M");
    static_assert(EfSearch >= 1, "inmem::hnsw<..., EfSearch>: EfSearch is at least 1");
    static constexpr std::size_t m = M;
    static constexpr std::size_t ef_construction = EfConstruction;
    static constexpr std::size_t threshold = Threshold;
    static constexpr std::size_t ef_search = EfSearch;
};

/// A collection that is always searched exactly (no graph, whatever its size).
using exact = hnsw<16, 200, std::numeric_limits<std::size_t>::max()>;

/// How a collection's index keeps its vectors in memory, where searches scan and walk them.
/// The records in the store always hold the float32 embedding as written: with codes, a
/// search finds candidates by them (search_options::rerank of them) and ranks those again
/// by their exact float32 distances, which are the distances it returns.
enum class vector_storage : std::uint8_t {
    float32, ///< 4 bytes a dimension, exact distances (the default)
    float16, ///< 2 bytes a dimension: IEEE half precision, about 3 significant digits
    int8,    ///< 1 byte a dimension and 4 a vector: scalar quantisation, each vector by its own scale
};

/// A collection option: its index keeps vectors as Storage says.
template <vector_storage Storage>
struct stored_as {
    using policy_kind = detail::collection_storage_kind;
    static constexpr vector_storage value = Storage;
};
using store_float32 = stored_as<vector_storage::float32>; ///< the default: floats as written
using store_float16 = stored_as<vector_storage::float16>; ///< half the memory, near-exact order
using store_int8 = stored_as<vector_storage::int8>;       ///< a quarter of the memory, re-ranked exactly

/// What a collection's in-memory index holds (vector_handle::index_stats()).
struct vector_index_stats {
    std::size_t vectors = 0;     ///< live vectors, every run's
    std::size_t rows = 0;        ///< rows kept, also those replaced or erased since the open
    bool graph = false;          ///< whether the collection has its HNSW graph yet
    std::size_t graph_nodes = 0; ///< rows in the graph (the first ones); searches scan the rest
    bool building = false;       ///< a background thread is building the graph (at open, or past the threshold)
};

/// How a search finds its results (search_options::method).
enum class search_method : std::uint8_t {
    /// The graph's walk or the exact scan, whichever is cheaper by an estimate: the scan when
    /// the collection has no graph, or when the filter keeps so little of it (estimated from a
    /// sample) that the walk would visit more vectors than the scan computes distances for.
    automatic,
    exact, ///< scan every vector: the exact answer, O(collection)
    graph, ///< walk the graph when there is one, however selective the filter
};

/// How one search runs (every field has a default that fits most uses).
struct search_options {
    /// Candidates a graph walk keeps: more finds more of the true nearest (recall), slower.
    /// 0: the collection's EfSearch. Never fewer than k.
    std::size_t ef = 0;
    search_method method = search_method::automatic;
    /// With store_float16 or store_int8: how many candidates found by the codes are ranked
    /// again by their float32 embeddings (never fewer than k). More: the true nearest more
    /// often among them, each costing a read of its record. 0: 4k for int8, 2k for float16.
    std::size_t rerank = 0;
};

/// A collection of vectors of Dimension floats, each with metadata of type Meta, compared by
/// Metric: list it in the schema's inmem::vectors<...>. Dimension and metric are part of the
/// schema's fingerprint (a database written with others is refused at open). It is also the
/// record each vector is stored as (as JSON, a replay or a diff show it): its embedding as
/// written, its metadata, and the time of the write by the database's clock. Options, each
/// at most once and in any order, say how it is searched and are not stored (they may change
/// between opens): an index (inmem::hnsw<...>, the default hnsw<>, or inmem::exact) and a
/// storage (inmem::store_float32, the default, store_float16 or store_int8).
template <class Meta, std::size_t Dimension, metric Metric = metric::cosine, class... Options>
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
template <class Meta, std::size_t D, metric M, class... Options>
struct collection_traits<collection<Meta, D, M, Options...>> {
    static_assert(((is_of_kind<collection_index_kind, Options>() || is_of_kind<collection_storage_kind, Options>()) && ...),
                  "inmem::collection<Meta, Dimension, Metric, Options...>: each option is an index (inmem::hnsw<...> "
                  "or inmem::exact) or a storage (inmem::store_float32, inmem::store_float16, inmem::store_int8)");
    static_assert(count_kind_v<collection_index_kind, Options...> <= 1,
                  "inmem::collection<Meta, Dimension, Metric, Options...>: one index option at most (inmem::hnsw<...> or inmem::exact)");
    static_assert(count_kind_v<collection_storage_kind, Options...> <= 1,
                  "inmem::collection<Meta, Dimension, Metric, Options...>: one storage option at most (inmem::store_float32, "
                  "inmem::store_float16 or inmem::store_int8)");
    static constexpr bool is_collection = true;
    using meta_type = Meta;
    using index_type = select_policy_t<collection_index_kind, hnsw<>, Options...>;
    static constexpr vector_storage storage = select_policy_t<collection_storage_kind, store_float32, Options...>::value;
    /// What the index keeps a dimension as (vectors/codes.hpp).
    using code_type = std::conditional_t<storage == vector_storage::float32, float,
                                         std::conditional_t<storage == vector_storage::float16, std::uint16_t, std::int8_t>>;
    static constexpr std::size_t dimension = D;
    static constexpr metric distance = M;
};
} // namespace detail

/// True when C is an inmem::collection<Meta, Dimension, Metric, Options...>.
template <class C>
concept vector_collection = detail::collection_traits<C>::is_collection;

} // namespace inmem
