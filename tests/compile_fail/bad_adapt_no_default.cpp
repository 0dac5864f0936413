// A type stored through inmem::adapt must be default-constructible: decoding creates one first.
// expect: inmem: a type stored through inmem::adapt<T> must be default-constructible
#include <inmem/inmem.hpp>

class Celsius {
public:
#ifdef INMEM_EXPECT_FAIL
    explicit Celsius(double v) : v_(v) {}
#else
    explicit Celsius(double v = 0) : v_(v) {}
#endif
    double value() const { return v_; }

private:
    double v_;
};

template <>
struct inmem::adapt<Celsius> {
    using stored_type = double;
    static double to_stored(const Celsius& c) { return c.value(); }
    static Celsius from_stored(double v) { return Celsius(v); }
};

int main() {
    inmem::database<inmem::schema<inmem::kv<Celsius>>> db;
    (void)db.begin_run();
}
