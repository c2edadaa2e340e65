// ring_bench output: machine description, result table, ratios against the spsc_queue
// baseline of the same run, CSV and a gnuplot PNG. Results go to stdout, problems to stderr.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness.hpp"

namespace ring_bench {

struct Row {
    std::string queue;  // pv_ring, spsc_queue, mutex_condvar
    std::uint32_t pages;
    std::uint32_t slots;
    std::uint32_t batch;
    double ops_per_s;
    double ns_per_op;
    double notifications_per_op;
};

// pv_ring over spsc_queue ops_per_s, one value per repetition (the two ran back to back, so
// drifting machine load cancels out): median and the range seen.
struct Ratio {
    std::uint32_t slots;
    std::uint32_t batch;
    double median;
    double low;
    double high;
};

void print_machine(const CpuPlan& cpus);
std::string load_average();  // /proc/loadavg: 1, 5, 15 minutes
void print_table(const std::vector<Row>& rows);
void print_ratios(const std::vector<Ratio>& ratios);
// Writes ring_bench.csv and ring_bench_ratios.csv into `dir`; false (and a message) on error.
bool write_csv(const std::string& dir, const std::vector<Row>& rows, const std::vector<Ratio>& ratios);
// Renders ring_bench.png from ring_bench.csv with gnuplot; false if gnuplot is missing or fails.
bool render_plot(const std::string& dir, const std::vector<std::uint32_t>& slot_counts);

}  // namespace ring_bench
