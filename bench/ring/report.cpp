// ring_bench output: what ran where, the numbers, and the ratio to the baseline. Must never
// present a ratio whose two sides were not measured in this same run.
#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <tuple>

namespace ring_bench {

namespace {

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "unknown";
}

}  // namespace

// Other work on the machine skews two-thread numbers badly; say how busy it was.
std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return in ? one + " " + five + " " + fifteen : "unknown";
}

namespace {

std::vector<Row> sorted(std::vector<Row> rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return std::tie(a.queue, a.slots, a.batch) < std::tie(b.queue, b.slots, b.batch);
    });
    return rows;
}

}  // namespace

void print_machine(const CpuPlan& cpus) {
    utsname u{};
    uname(&u);
    std::printf("machine: cpu_model=\"%s\" cpus_online=%ld kernel=\"%s %s\" loadavg_at_start=\"%s\"\n",
                cpu_model().c_str(), sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, load_average().c_str());
    if (cpus.producer_cpu < 0) {
        std::printf("pinning: only one CPU available, threads NOT pinned (numbers measure time-sharing)\n");
    } else {
        std::printf("pinning: producer on CPU %d, consumer on CPU %d\n", cpus.producer_cpu, cpus.consumer_cpu);
    }
}

void print_table(const std::vector<Row>& rows) {
    std::printf("\n%-14s %5s %6s %6s %14s %10s %21s\n", "queue", "pages", "slots", "batch", "ops_per_s",
                "ns_per_op", "notifications_per_op");
    for (const Row& r : rows) {
        std::printf("%-14s %5u %6u %6u %14.0f %10.2f %21.4f\n", r.queue.c_str(), r.pages, r.slots, r.batch,
                    r.ops_per_s, r.ns_per_op, r.notifications_per_op);
    }
}

void print_ratios(const std::vector<Ratio>& ratios) {
    std::printf("\nratio pv_ring / spsc_queue ops_per_s, per repetition run back to back (target: >= 0.8 at "
                "batch 1, >= 1.0 at batch >= 32)\n");
    std::printf("%6s %6s %24s %12s %12s\n", "slots", "batch", "pv_ring_over_spsc_median", "lowest", "highest");
    for (const Ratio& r : ratios) {
        std::printf("%6u %6u %24.2f %12.2f %12.2f\n", r.slots, r.batch, r.median, r.low, r.high);
    }
}

bool write_csv(const std::string& dir, const std::vector<Row>& rows, const std::vector<Ratio>& ratios) {
    const std::string path = dir + "/ring_bench.csv";
    std::ofstream out(path);
    out << "queue,pages,slots,batch,ops_per_s,ns_per_op,notifications_per_op\n";
    for (const Row& r : sorted(rows)) {  // grouped by queue and size: one plot line per group
        out << r.queue << ',' << r.pages << ',' << r.slots << ',' << r.batch << ',' << r.ops_per_s << ','
            << r.ns_per_op << ',' << r.notifications_per_op << '\n';
    }
    const std::string ratio_path = dir + "/ring_bench_ratios.csv";
    std::ofstream ratio_out(ratio_path);
    ratio_out << "slots,batch,pv_ring_over_spsc_median,lowest,highest\n";
    for (const Ratio& r : ratios) {
        ratio_out << r.slots << ',' << r.batch << ',' << r.median << ',' << r.low << ',' << r.high << '\n';
    }
    if (!out || !ratio_out) {
        std::fprintf(stderr, "ring_bench: write %s: failed\n", path.c_str());
        return false;
    }
    return true;
}

bool render_plot(const std::string& dir, const std::vector<std::uint32_t>& slot_counts) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::fprintf(stderr, "ring_bench: gnuplot not found (apt-get install gnuplot-nox): no PNG\n");
        return false;
    }
    const int columns = slot_counts.size() > 1 ? 2 : 1;
    const int lines = static_cast<int>((slot_counts.size() + 1) / 2);
    for (const char* terminal : {"pngcairo size 1400,1000 noenhanced", "png size 1400,1000"}) {
        std::ostringstream gp;
        gp << "set terminal " << terminal << "\nset output 'ring_bench.png'\nset datafile separator ','\n"
           << "set logscale x 2\nset logscale y 10\nset grid\nset key top left\n"
           << "set xlabel 'batch size (messages)'\nset ylabel 'ops_per_s'\n"
           << "set multiplot layout " << lines << ',' << columns
           << " title 'ring_bench: 64-byte messages, one direction, two pinned threads'\n";
        for (std::uint32_t slots : slot_counts) {
            gp << "set title 'capacity " << slots << " slots'\nplot ";
            const char* queues[][2] = {{"pv_ring", "pv::ring"}, {"spsc_queue", "boost spsc_queue"},
                                       {"mutex_condvar", "mutex+condvar"}};
            for (int q = 0; q < 3; ++q) {
                gp << (q ? ", " : "") << "'ring_bench.csv' skip 1 using 4:(strcol(1) eq '" << queues[q][0]
                   << "' && $3 == " << slots << " ? $5 : 1/0) with linespoints lw 2 title '" << queues[q][1] << "'";
            }
            gp << '\n';
        }
        gp << "unset multiplot\n";
        std::ofstream(dir + "/ring_bench.gp") << gp.str();
        const std::string cmd = "cd '" + dir + "' && gnuplot ring_bench.gp 2>ring_bench.gnuplot.log";
        if (std::system(cmd.c_str()) == 0) {
            return true;
        }
    }
    std::fprintf(stderr, "ring_bench: gnuplot failed, see %s/ring_bench.gnuplot.log\n", dir.c_str());
    return false;
}

}  // namespace ring_bench
