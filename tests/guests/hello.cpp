// hello: the first test guest. Exercises the hypercall page and console_io, checks the
// start_info the builder filled, and asks xen_version; prints RESULT: PASS|FAIL.
#include <pv/hypercall.hpp>
#include <pv/start_info.hpp>
#include <pv/version.hpp>

#include "console.hpp"
#include "hypercall.hpp"

void guest_main(const pv::start_info& info) {
  guest::print("hello from a microxen test guest\n");
  guest::print("start_info: magic \"%.32s\" nr_pages %lu flags %#x cmdline \"%.64s\"\n", info.magic,
               static_cast<unsigned long>(info.nr_pages), info.flags,
               reinterpret_cast<const char*>(info.cmd_line));
  const char expected[] = "xen-3.0-x86_64";
  for (unsigned i = 0; i + 1 < sizeof expected; ++i) GUEST_CHECK(info.magic[i] == expected[i]);
  GUEST_CHECK(info.nr_pages > 0);

  long version = guest::hypercall<pv::hypercall::xen_version>(pv::XENVER_version, 0);
  guest::print("xen_version: %ld.%ld\n", version >> 16, version & 0xffff);
  GUEST_CHECK((version >> 16) >= 3);

  char extra[pv::XEN_EXTRAVERSION_LEN] = {};
  GUEST_CHECK(guest::hypercall<pv::hypercall::xen_version>(pv::XENVER_extraversion,
                                                           reinterpret_cast<std::uint64_t>(extra)) == 0);
  guest::print("extraversion: \"%.16s\"\n", extra);
}
