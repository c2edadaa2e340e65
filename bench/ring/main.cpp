// ring_bench: how fast pv::ring moves 64-byte messages one way between two pinned threads,
// against boost::lockfree::spsc_queue (baseline) and a mutex+condvar queue, over batch size
// and ring size. Never fails on speed: exit status is non-zero only if the program errs
// (a message lost, reordered or corrupted, or output that cannot be written).
//
// Ring sizes: pv::ring of 1, 2, 4, 8 pages holds 32, 64, 128, 256 slots of 64 bytes (Xen's
// rule: (pages*4096 - 64) / 64 rounded down to a power of two); the other queues get the
// same capacity. A batch larger than the capacity is capped by it.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"
#include "pv/ring.hpp"
#include "report.hpp"

namespace ring_bench {
namespace {

struct Options {
    bool smoke = false;
    std::string out_dir = ".";
    unsigned reps = 5;
    std::vector<std::uint32_t> pages;    // empty: the default sweep
    std::vector<std::uint32_t> batches;  // empty: the default sweep
};

// "1,2,8" -> {1, 2, 8}; false on anything that is not a positive number.
bool parse_list(const char* text, std::vector<std::uint32_t>& out) {
    out.clear();
    std::string item;
    for (const char* p = text;; ++p) {
        if (*p == ',' || *p == '\0') {
            const long v = std::atol(item.c_str());
            if (v <= 0 || v > 4096) {
                return false;
            }
            out.push_back(static_cast<std::uint32_t>(v));
            item.clear();
            if (*p == '\0') {
                return true;
            }
        } else {
            item += *p;
        }
    }
}

struct Sweep {
    std::vector<std::uint32_t> pages;
    std::vector<std::uint32_t> batches;
    std::uint64_t lockfree_ops;
    std::uint64_t mutex_ops;
    unsigned reps;
};

Sweep sweep_for(const Options& opt) {
    Sweep sweep = opt.smoke ? Sweep{{2}, {1, 8, 64}, 50'000, 20'000, 1}
                            : Sweep{{1, 2, 4, 8}, {1, 2, 4, 8, 16, 32, 64, 128, 256}, 4'000'000, 300'000, opt.reps};
    if (!opt.pages.empty()) {
        sweep.pages = opt.pages;
    }
    if (!opt.batches.empty()) {
        sweep.batches = opt.batches;
    }
    return sweep;
}

using Runner = RunResult (*)(const RunSpec&, const CpuPlan&);

struct Contender {
    const char* name;
    Runner run;
    bool slow;  // gets the smaller op count
};
constexpr Contender contenders[] = {
    {"pv_ring", run_pv_ring, false}, {"spsc_queue", run_spsc, false}, {"mutex_condvar", run_mutex, true}};

template <class T, class Key>
T median_by(std::vector<T> v, Key key) {
    std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
    return v[v.size() / 2];
}

// One (size, batch) point: the queues take turns, repetition by repetition, so a change in
// machine load hits all of them alike; the median run of each is reported.
bool measure_point(const Sweep& sweep, std::uint32_t pages, std::uint32_t batch, const CpuPlan& cpus,
                   std::vector<Row>& rows, std::vector<Ratio>& ratios) {
    const std::uint32_t bytes = pages * static_cast<std::uint32_t>(pv::ring_page_size);
    const std::uint32_t slots = pv::ring_slots_for(bytes, sizeof(Message));
    std::vector<Row> samples[3];
    std::vector<double> ratio_samples;
    for (unsigned rep = 0; rep < sweep.reps; ++rep) {
        for (int q = 0; q < 3; ++q) {
            const RunSpec spec{slots, bytes, batch, contenders[q].slow ? sweep.mutex_ops : sweep.lockfree_ops};
            const RunResult r = contenders[q].run(spec, cpus);
            if (r.errors != 0 || r.seconds <= 0) {
                std::fprintf(stderr, "ring_bench: %s slots=%u batch=%u: %llu bad messages\n", contenders[q].name,
                             slots, batch, static_cast<unsigned long long>(r.errors));
                return false;
            }
            const double ops = static_cast<double>(spec.ops);
            samples[q].push_back(Row{contenders[q].name, pages, slots, batch, ops / r.seconds, r.seconds * 1e9 / ops,
                                     static_cast<double>(r.notifications) / ops});
        }
        ratio_samples.push_back(samples[0].back().ops_per_s / samples[1].back().ops_per_s);
    }
    for (const auto& s : samples) {
        rows.push_back(median_by(s, [](const Row& r) { return r.ops_per_s; }));
    }
    const auto [low, high] = std::minmax_element(ratio_samples.begin(), ratio_samples.end());
    ratios.push_back(Ratio{slots, batch, median_by(ratio_samples, [](double d) { return d; }), *low, *high});
    return true;
}

bool run_sweep(const Sweep& sweep, const CpuPlan& cpus, std::vector<Row>& rows, std::vector<Ratio>& ratios) {
    for (std::uint32_t pages : sweep.pages) {
        std::fprintf(stderr, "ring_bench: %u page(s)...\n", pages);
        for (std::uint32_t batch : sweep.batches) {
            if (!measure_point(sweep, pages, batch, cpus, rows, ratios)) {
                return false;
            }
        }
    }
    return true;
}

int usage(int status) {
    std::fprintf(status ? stderr : stdout,
                 "usage: ring_bench [--smoke] [--out-dir DIR] [--reps N] [--pages LIST] [--batches LIST]\n"
                 "  --smoke      tiny sweep for CI (a few seconds)\n"
                 "  --pages      pv::ring sizes in 4 KiB pages (default 1,2,4,8 = 32..256 slots)\n"
                 "  --batches    batch sizes (default 1,2,4,...,256)\n"
                 "  --out-dir    where ring_bench.csv, ring_bench_ratios.csv, ring_bench.png go (default .)\n"
                 "  --reps       runs per point, the median is reported (default 5)\n");
    return status;
}

bool parse(int argc, char** argv, Options& opt) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--smoke") {
            opt.smoke = true;
        } else if (arg == "--out-dir" && i + 1 < argc) {
            opt.out_dir = argv[++i];
        } else if (arg == "--pages" && i + 1 < argc) {
            if (!parse_list(argv[++i], opt.pages)) {
                std::fprintf(stderr, "ring_bench: --pages: expected a list like 1,2,4\n");
                return false;
            }
        } else if (arg == "--batches" && i + 1 < argc) {
            if (!parse_list(argv[++i], opt.batches)) {
                std::fprintf(stderr, "ring_bench: --batches: expected a list like 1,32\n");
                return false;
            }
        } else if (arg == "--reps" && i + 1 < argc) {
            opt.reps = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
        } else {
            std::fprintf(stderr, "ring_bench: unknown argument '%s'\n", arg.c_str());
            return false;
        }
    }
    return true;
}

}  // namespace
}  // namespace ring_bench

int main(int argc, char** argv) {
    using namespace ring_bench;
    Options opt;
    if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        return usage(0);
    }
    if (!parse(argc, argv, opt)) {
        return usage(2);
    }
    std::error_code ec;
    std::filesystem::create_directories(opt.out_dir, ec);
    if (ec) {
        std::fprintf(stderr, "ring_bench: create %s: %s\n", opt.out_dir.c_str(), ec.message().c_str());
        return 1;
    }
    const CpuPlan cpus = plan_cpus();
    const Sweep sweep = sweep_for(opt);
    print_machine(cpus);
    std::printf("workload: 64-byte messages one way, producer batch = consumer batch; pv::ring back end acks "
                "each message (8 bytes) and both sides run Xen's notify/final-check protocol; spsc_queue "
                "busy-polls; median of %u run(s)\n", sweep.reps);
    std::vector<Row> rows;
    std::vector<Ratio> ratios;
    if (!run_sweep(sweep, cpus, rows, ratios)) {
        return 1;
    }
    std::printf("loadavg_at_end=\"%s\"\n", load_average().c_str());
    print_table(rows);
    print_ratios(ratios);
    if (!write_csv(opt.out_dir, rows, ratios)) {
        return 1;
    }
    std::vector<std::uint32_t> slot_counts;
    for (std::uint32_t pages : sweep.pages) {
        slot_counts.push_back(pv::ring_slots_for(pages * pv::ring_page_size, sizeof(Message)));
    }
    const bool plotted = render_plot(opt.out_dir, slot_counts);
    std::printf("\ncsv: %s/ring_bench.csv\nratios: %s/ring_bench_ratios.csv\n", opt.out_dir.c_str(),
                opt.out_dir.c_str());
    if (plotted) {
        std::printf("plot: %s/ring_bench.png\n", opt.out_dir.c_str());
    }
    return 0;
}
