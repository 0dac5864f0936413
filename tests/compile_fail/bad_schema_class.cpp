// A class with private members and a constructor is not an aggregate: it needs inmem::adapt.
// expect: inmem: this type cannot be stored: it is not an aggregate
#include <inmem/inmem.hpp>

class Money {
public:
    explicit Money(long cents = 0) : cents_(cents) {}
    long cents() const { return cents_; }

private:
    long cents_;
};

#ifndef INMEM_EXPECT_FAIL
template <>
struct inmem::adapt<Money> {
    using stored_type = long;
    static long to_stored(const Money& m) { return m.cents(); }
    static Money from_stored(long cents) { return Money(cents); }
};
#endif

struct Invoice {
    std::string customer;
    Money total;
};

int main() {
    inmem::database<inmem::schema<inmem::kv<Invoice>>> db;
    (void)db.begin_run();
}
