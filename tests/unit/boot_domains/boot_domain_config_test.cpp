// boot_domain_config: the module command-line syntax of boot-module domains, and the module
// plan (which module is whose kernel or initrd).
#include "core/boot_domain_config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hv {
namespace {

BootDomainConfig parse_ok(std::string_view text) {
  BootDomainConfig c;
  BootDomainConfigError e = parse_boot_domain(text, c);
  EXPECT_FALSE(e) << text << ": " << std::string(e.field) << ": " << (e.reason ? e.reason : "");
  return c;
}

std::string error_field(std::string_view text) {
  BootDomainConfig c;
  BootDomainConfigError e = parse_boot_domain(text, c);
  EXPECT_TRUE(e) << text;
  return std::string(e.field);
}

TEST(BootDomainConfig, FullExample) {
  BootDomainConfig c = parse_ok("domain name=linux mem=256M console_io -- earlyprintk=xen console=hvc0");
  EXPECT_STREQ(c.name, "linux");
  EXPECT_EQ(c.memory_bytes, 256ull << 20);
  EXPECT_TRUE(c.console_io);
  EXPECT_EQ(c.vcpus, 1u);
  EXPECT_EQ(c.guest_cmdline, "earlyprintk=xen console=hvc0");
}

TEST(BootDomainConfig, Defaults) {
  BootDomainConfig c = parse_ok("domain");
  EXPECT_STREQ(c.name, "");
  EXPECT_EQ(c.memory_bytes, BootDomainConfig::kDefaultMemory);
  EXPECT_FALSE(c.console_io);
  EXPECT_EQ(c.guest_cmdline, "");
}

TEST(BootDomainConfig, SeparatorVariants) {
  EXPECT_EQ(parse_ok("domain mem=8M --").guest_cmdline, "");
  EXPECT_EQ(parse_ok("domain -- a -- b").guest_cmdline, "a -- b");  // only the first splits
  EXPECT_EQ(parse_ok("  domain   mem=1G  vcpus=1 -- x").memory_bytes, 1ull << 30);
  EXPECT_EQ(parse_ok("domain vcpus=8").vcpus, 8u);
  EXPECT_EQ(parse_ok("domain mem=65536K").memory_bytes, 64ull << 20);
  EXPECT_EQ(parse_ok("domain mem=0x400000").memory_bytes, 4ull << 20);
  EXPECT_EQ(parse_ok("domain mem=5000000").memory_bytes, 5000000ull & ~0xfffull);
}

TEST(BootDomainConfig, BadFieldsAreNamed) {
  EXPECT_EQ(error_field("domain mem=lots"), "mem");
  EXPECT_EQ(error_field("domain mem=1M"), "mem");  // below the minimum
  EXPECT_EQ(error_field("domain mem=2T"), "mem");
  EXPECT_EQ(error_field("domain mem"), "mem");
  EXPECT_EQ(error_field("domain mem=99999999999999999999G"), "mem");
  EXPECT_EQ(error_field("domain vcpus=0"), "vcpus");
  EXPECT_EQ(error_field("domain vcpus=9"), "vcpus");
  EXPECT_EQ(error_field("domain vcpus"), "vcpus");
  EXPECT_EQ(error_field("domain vcpus=x"), "vcpus");
  EXPECT_EQ(error_field("domain name="), "name");
  EXPECT_EQ(error_field("domain name=a/b"), "name");
  EXPECT_EQ(error_field("domain name=0123456789012345678901234567890123"), "name");
  EXPECT_EQ(error_field("domain console_io=1"), "console_io");
  EXPECT_EQ(error_field("domain colour=blue -- x"), "colour");
  EXPECT_EQ(error_field("domainx"), "domain");
}

TEST(BootDomainConfig, NameOfMaximumLength) {
  EXPECT_STREQ(parse_ok("domain name=0123456789012345678901234567890").name, "0123456789012345678901234567890");
}

TEST(BootDomainConfig, Keyword) {
  EXPECT_TRUE(starts_with_keyword("domain", "domain"));
  EXPECT_TRUE(starts_with_keyword(" domain mem=8M", "domain"));
  EXPECT_FALSE(starts_with_keyword("domains", "domain"));
  EXPECT_FALSE(starts_with_keyword("x domain", "domain"));
  EXPECT_FALSE(starts_with_keyword("", "domain"));
  EXPECT_TRUE(starts_with_keyword("initrd for linux", "initrd"));
}

BootModulePlan plan(std::vector<std::string_view> cmdlines) { return plan_boot_modules(cmdlines); }

TEST(BootModulePlan, NoModulesNoDomains) { EXPECT_TRUE(plan({}).domains.empty()); }

TEST(BootModulePlan, Dom0WithInitrdAsBefore) {
  BootModulePlan p = plan({"console=hvc0", "anything"});
  ASSERT_EQ(p.domains.size(), 1u);
  EXPECT_EQ(p.domains[0].domid, 0);
  EXPECT_EQ(p.domains[0].kernel_module, 0u);
  EXPECT_EQ(p.domains[0].initrd_module, 1u);
  EXPECT_TRUE(p.unused.empty());
}

TEST(BootModulePlan, DomainsInModuleOrderWithInitrds) {
  BootModulePlan p = plan({"seed=1", "domain mem=8M -- seed=2", "initrd", "domain name=b", "initrd x"});
  ASSERT_EQ(p.domains.size(), 3u);
  EXPECT_EQ(p.domains[0].initrd_module, BootDomainPlan::kNoModule);  // module 1 is a domain
  EXPECT_EQ(p.domains[1].domid, 1);
  EXPECT_EQ(p.domains[1].kernel_module, 1u);
  EXPECT_EQ(p.domains[1].initrd_module, 2u);
  EXPECT_EQ(p.domains[1].config.guest_cmdline, "seed=2");
  EXPECT_EQ(p.domains[2].domid, 2);
  EXPECT_EQ(p.domains[2].kernel_module, 3u);
  EXPECT_EQ(p.domains[2].initrd_module, 4u);
  EXPECT_TRUE(p.unused.empty());
}

TEST(BootDomainConfig, SchedulerWeightAndCap) {
  BootDomainConfig c = parse_ok("domain name=heavy weight=512 cap=50 -- seconds=5");
  EXPECT_EQ(c.weight, 512);
  EXPECT_EQ(c.cap, 50);
  EXPECT_EQ(c.guest_cmdline, "seconds=5");
  EXPECT_EQ(parse_ok("domain").weight, 256);  // Xen's defaults
  EXPECT_EQ(parse_ok("domain").cap, 0);
  EXPECT_EQ(parse_ok("domain weight=1 cap=0").weight, 1);
  EXPECT_EQ(parse_ok("domain weight=65535").weight, 65535);
  EXPECT_EQ(parse_ok("domain cap=100 vcpus=1").cap, 100);  // the bound is checked after vcpus=
  EXPECT_EQ(parse_ok("domain cap=200 vcpus=2").cap, 200);
}

TEST(BootDomainConfig, BadSchedulerSettingsAreNamed) {
  EXPECT_EQ(error_field("domain weight=0"), "weight");
  EXPECT_EQ(error_field("domain weight=65536"), "weight");
  EXPECT_EQ(error_field("domain weight"), "weight");
  EXPECT_EQ(error_field("domain weight=heavy"), "weight");
  EXPECT_EQ(error_field("domain cap=101"), "cap");  // one vCPU: at most 100
  EXPECT_EQ(error_field("domain vcpus=2 cap=201"), "cap");
  EXPECT_EQ(error_field("domain cap=70000"), "cap");
  EXPECT_EQ(error_field("domain cap"), "cap");
  EXPECT_EQ(error_field("domain cap=-1"), "cap");
}

TEST(BootDomainConfig, CpusIsAHardAffinityMask) {
  EXPECT_EQ(parse_ok("domain").cpu_affinity, ~std::uint64_t{0});  // anywhere
  EXPECT_EQ(parse_ok("domain cpus=1").cpu_affinity, 0b10u);
  EXPECT_EQ(parse_ok("domain cpus=0,2,7").cpu_affinity, 0b10000101u);
  EXPECT_EQ(error_field("domain cpus"), "cpus");
  EXPECT_EQ(error_field("domain cpus="), "cpus");
  EXPECT_EQ(error_field("domain cpus=8"), "cpus");
  EXPECT_EQ(error_field("domain cpus=0,"), "cpus");
  EXPECT_EQ(error_field("domain cpus=one"), "cpus");
  EXPECT_EQ(error_field("domain cpus=0-3"), "cpus");
}

TEST(BootModulePlan, BadDomainKeepsItsNumberAndOthersRun) {
  BootModulePlan p = plan({"", "domain mem=bad", "domain"});
  ASSERT_EQ(p.domains.size(), 3u);
  EXPECT_TRUE(p.domains[1].error);
  EXPECT_EQ(std::string(p.domains[1].error.field), "mem");
  EXPECT_FALSE(p.domains[2].error);
  EXPECT_EQ(p.domains[2].domid, 2);
}

TEST(BootModulePlan, StrayModulesAreReported) {
  BootModulePlan p = plan({"", "initrd", "other", "domain", "initrd", "initrd"});
  ASSERT_EQ(p.domains.size(), 2u);
  EXPECT_EQ(p.domains[0].initrd_module, BootDomainPlan::kNoModule);  // `initrd` is for domains
  ASSERT_EQ(p.unused.size(), 3u);
  EXPECT_EQ(p.unused[0].module, 1u);
  EXPECT_EQ(p.unused[1].module, 2u);
  EXPECT_EQ(p.unused[2].module, 5u);  // a domain has at most one initrd
}

TEST(BootModulePlan, AtMostSevenDomUs) {
  std::vector<std::string_view> cmdlines(10, "domain");
  cmdlines[0] = "";
  BootModulePlan p = plan(cmdlines);
  EXPECT_EQ(p.domains.size(), BootModulePlan::kMaxDomains);
  ASSERT_EQ(p.unused.size(), 2u);
  EXPECT_EQ(p.unused[0].module, 8u);
}

}  // namespace
}  // namespace hv
