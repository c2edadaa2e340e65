// evtchn_test: event channels between two boot-module domains on microxen (dom0 + d1 running
// tests/guests/evtchn_pingpong). Microxen only: Xen 4.17 has no dom0less boot on x86, so a
// second domain cannot exist without a toolstack; the single-domain evtchn guest runs on
// Xen 4.17 in guest_test's Oracle suite.
#include <gtest/gtest.h>

#include <string>

#include "qemu_machine.hpp"
#include "run_to_end.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace microxen::harness;

const fs::path kGuests = MICROXEN_GUEST_DIR;

// 100 round trips with block/wake, then d1 closes its end with an event in flight; both print
// PASS, the machine exits cleanly and neither domain leaks a frame. On 1, 2 and 4 pCPUs (with
// several, the two domains run in parallel and every event crosses pCPUs by IPI).
class EventChannels : public testing::TestWithParam<unsigned> {};

TEST_P(EventChannels, TwoDomainPingPongAndCloseInFlight) {
  fs::path dir = fresh_directory(fs::path(MICROXEN_TEST_RUNS) / ("EventChannels.PingPong" + std::to_string(GetParam())));
  MachineOptions opt;
  opt.cpus = GetParam();
  opt.iso = make_grub_iso(MICROXEN_HYPERVISOR_ELF, "debug_exit=0xf4",
                          {{kGuests / "evtchn_pingpong.elf", "ping"},
                           {kGuests / "evtchn_pingpong.elf", "domain name=pong mem=32M console_io -- pong"}},
                          dir);
  opt.work_dir = dir;
  Machine m(opt);
  std::string log = run_to_end(m, kExitSuccess);
  EXPECT_NE(log.find("dom0: 100 round trips"), std::string::npos) << m.log_tail(80);
  EXPECT_NE(log.find("(d1) d1: 100 round trips, port closed"), std::string::npos) << m.log_tail(80);
  EXPECT_TRUE(has_line(log, "RESULT: PASS")) << m.log_tail(80);
  EXPECT_TRUE(has_line(log, "(d1) RESULT: PASS")) << m.log_tail(80);
  EXPECT_NE(log.find("d1 destroyed: all its frames are free again"), std::string::npos) << m.log_tail(80);
  EXPECT_NE(log.find("d0 destroyed: all its frames are free again"), std::string::npos) << m.log_tail(80);
}

std::string pcpus_name(const testing::TestParamInfo<unsigned>& p) { return std::to_string(p.param) + "cpus"; }

INSTANTIATE_TEST_SUITE_P(Pcpus, EventChannels, testing::Values(1u, 2u, 4u), pcpus_name);

}  // namespace
