// microxen-kernel-unpack: writes the ELF inside a bzImage (or copies an ELF) so it can be a
// boot module the hypervisor's domain builder loads.
#include <fstream>
#include <iostream>
#include <iterator>

#include "kernel_image.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: microxen-kernel-unpack BZIMAGE|ELF OUTPUT.elf\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << "microxen-kernel-unpack: " << argv[1] << ": cannot open\n";
    return 1;
  }
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = microxen::kernel_image::unpack(bytes);
  if (!r.ok) {
    std::cerr << "microxen-kernel-unpack: " << argv[1] << ": " << r.error << "\n";
    return 1;
  }
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(r.image.elf.data()), static_cast<std::streamsize>(r.image.elf.size()));
  if (!out.flush()) {
    std::cerr << "microxen-kernel-unpack: " << argv[2] << ": write failed\n";
    return 1;
  }
  std::cout << argv[1] << ": " << (r.image.format == microxen::kernel_image::Format::bzimage ? "bzImage" : "ELF")
            << ", " << compression_name(r.image.compression) << ", " << r.image.elf.size() << " bytes of ELF\n";
  return 0;
}
