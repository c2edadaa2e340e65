// run_to_end: boots a Machine, waits (with a timeout) for QEMU to exit, and checks the exit
// status and that the hypervisor never panicked; returns the COM1 log for further checks.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "qemu_machine.hpp"

inline std::string run_to_end(microxen::harness::Machine& m, int expected_status) {
  using namespace std::chrono_literals;
  m.start();
  auto status = m.wait_exit(microxen::harness::scaled(600s));
  std::string log = m.serial_log();
  EXPECT_TRUE(status.has_value()) << m.log_tail(80);
  if (status) {
    EXPECT_EQ(*status, expected_status) << m.log_tail(80);
  }
  EXPECT_EQ(log.find("PANIC"), std::string::npos) << m.log_tail(80);
  return log;
}
