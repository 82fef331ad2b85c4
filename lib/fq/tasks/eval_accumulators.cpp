// The MPI gather of fq-eval's dump statistics (tasks/eval_accumulators.hpp): each rank's
// accumulators as bytes, appended on the root.
#include "fq/tasks/eval_accumulators.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "fq/core/error.hpp"
#include "fq/io/mpi_run.hpp"

namespace fq::tasks::detail {

namespace {

// Accumulators as bytes (MPI gather): per entry its key, then its parts in a fixed order.
void put(std::vector<std::uint8_t>& b, const void* p, std::size_t n) {
    const auto* c = static_cast<const std::uint8_t*>(p);
    b.insert(b.end(), c, c + n);
}
void put_doubles(std::vector<std::uint8_t>& b, const std::vector<double>& v) {
    const std::uint64_t n = v.size();
    put(b, &n, sizeof n);
    put(b, v.data(), n * sizeof(double));
}
struct Bytes {
    const std::vector<std::uint8_t>& b;
    std::size_t at = 0;
    void get(void* p, std::size_t n) {
        if (n > b.size() - at) throw IoError("MPI: truncated accumulator message");
        std::copy_n(b.data() + at, n, static_cast<std::uint8_t*>(p));
        at += n;
    }
    std::vector<double> doubles() {
        std::uint64_t n = 0;
        get(&n, sizeof n);
        if (n > (b.size() - at) / sizeof(double))
            throw IoError("MPI: truncated accumulator message");
        std::vector<double> v(n);
        get(v.data(), n * sizeof(double));
        return v;
    }
};

void put_part(std::vector<std::uint8_t>& b, const metrics::Accumulator& a) {
    put_doubles(b, a.values());
}
void get_part(Bytes& in, metrics::Accumulator& a) {
    a.add(in.doubles());
}
void put_part(std::vector<std::uint8_t>& b, const metrics::Moments& m) {
    const std::array<double, 5> s = m.state();
    put(b, s.data(), sizeof s);
}
void get_part(Bytes& in, metrics::Moments& m) {
    std::array<double, 5> s{};
    in.get(s.data(), sizeof s);
    m.merge(metrics::Moments::from_state(s));
}
void put_part(std::vector<std::uint8_t>& b, const metrics::LowTail& t) {
    const std::uint64_t head[2] = {t.capacity(), t.count()};
    put(b, head, sizeof head);
    put_doubles(b, t.smallest());
}
void get_part(Bytes& in, metrics::LowTail& t) {
    std::uint64_t head[2] = {0, 0};
    in.get(head, sizeof head);
    t.merge(metrics::LowTail::restore(head[0], head[1], in.doubles()));
}
void put_part(std::vector<std::uint8_t>& b, const LowStats& s) {
    put(b, &s.p5, sizeof s.p5);
    put(b, &s.min, sizeof s.min);
}
void get_part(Bytes& in, LowStats& s) {
    in.get(&s.p5, sizeof s.p5);
    in.get(&s.min, sizeof s.min);
}
void put_part(std::vector<std::uint8_t>& b, const VectorAcc& a) {
    for (const metrics::Moments* m : {&a.mse, &a.nmse, &a.cos}) put_part(b, *m);
    put_part(b, a.cos_low);
    put_part(b, a.ip_mean);
    put_part(b, a.ip_mean_sq);
    put(b, &a.sq_error, sizeof a.sq_error);
}
void get_part(Bytes& in, VectorAcc& a) {
    for (metrics::Moments* m : {&a.mse, &a.nmse, &a.cos}) get_part(in, *m);
    get_part(in, a.cos_low);
    get_part(in, a.ip_mean);
    get_part(in, a.ip_mean_sq);
    double e = 0;
    in.get(&e, sizeof e);
    a.sq_error += e;
}
void put_part(std::vector<std::uint8_t>& b, const AttnAcc& a) {
    for (const metrics::Accumulator* x : {&a.kl, &a.top1, &a.top5, &a.score, &a.prob, &a.out})
        put_part(b, *x);
}
void get_part(Bytes& in, AttnAcc& a) {
    for (metrics::Accumulator* x : {&a.kl, &a.top1, &a.top5, &a.score, &a.prob, &a.out})
        get_part(in, *x);
}

void put_key(std::vector<std::uint8_t>& b, const std::pair<int, int>& key) {
    put(b, &key.first, sizeof key.first);
    put(b, &key.second, sizeof key.second);
}
void put_key(std::vector<std::uint8_t>& b, int key) {
    put(b, &key, sizeof key);
}
void get_key(Bytes& in, std::pair<int, int>& key) {
    in.get(&key.first, sizeof key.first);
    in.get(&key.second, sizeof key.second);
}
void get_key(Bytes& in, int& key) {
    in.get(&key, sizeof key);
}

template <class Key, class Acc>
void put_map(std::vector<std::uint8_t>& b, const std::map<Key, Acc>& m) {
    const std::uint64_t n = m.size();
    put(b, &n, sizeof n);
    for (const auto& [key, a] : m) {
        put_key(b, key);
        put_part(b, a);
    }
}

template <class Key, class Acc>
void get_map(Bytes& in, std::map<Key, Acc>& m) {
    std::uint64_t n = 0;
    in.get(&n, sizeof n);
    for (std::uint64_t i = 0; i < n; ++i) {
        Key key{};
        get_key(in, key);
        get_part(in, m[key]);
    }
}

}  // namespace

void gather_accumulators(Accumulators& acc) {
    if (io::mpi::size() == 1) return;
    std::vector<std::uint8_t> b;
    put_map(b, acc.k);
    put_map(b, acc.v);
    put_map(b, acc.attn);
    put_map(b, acc.k_layer);
    put_map(b, acc.v_layer);
    put_part(b, acc.k_all);
    put_part(b, acc.v_all);
    const std::vector<std::vector<std::uint8_t>> all = io::mpi::gather(b);
    for (std::size_t r = 1; r < all.size(); ++r) {
        Bytes in{all[r]};
        get_map(in, acc.k);
        get_map(in, acc.v);
        get_map(in, acc.attn);
        get_map(in, acc.k_layer);
        get_map(in, acc.v_layer);
        get_part(in, acc.k_all);
        get_part(in, acc.v_all);
    }
}

}  // namespace fq::tasks::detail
