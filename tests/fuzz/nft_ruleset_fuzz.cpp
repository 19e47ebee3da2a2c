// tests/fuzz/nft_ruleset_fuzz.cpp — libFuzzer target for the read side of the nftables driver:
// NftDriver::parse, which turns `nft -j list table inet ballast` into a KernelState (and the
// names apply() deletes next). Any bytes must give a state or an error with its text, never a
// crash, hang or escaping exception; the state must be canonical, and the batch that would remove
// or repair what was read must build. src/uplink/nft_driver.cpp reads no JSON (it only runs
// scripts), so there is nothing of it to fuzz.
//
// One driver serves every input: nft_ctx_new reads iproute2's tables from /etc, once. parse()
// reads only the table name and overwrites what it leaves behind (the objects seen), so no state
// carries from one input to the next.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "kernel/diff.h"
#include "kernel/kernel_state.h"
#include "kernel/nft_driver.h"

namespace {

namespace kernel = ballast::kernel;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

kernel::NftDriver& driver() {
  static kernel::NftDriver d("ballast");
  return d;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  kernel::NftDriver& d = driver();
  std::string error;
  auto state = d.parse(text, &error);
  if (!state) {
    check(!error.empty());
    return 0;
  }
  kernel::KernelState canonical = *state;
  canonical.canonicalize();
  check(canonical == *state);
  (void)kernel::toJson(*state).dump();
  // Everything read goes (what `ballast disable` does), then the scaffold is rebuilt: both
  // batches name the objects parse() recorded.
  const kernel::Diff remove = kernel::diff(kernel::KernelState{}, *state);
  (void)d.commands(remove);
  kernel::Diff repair = remove;
  repair.repair_scaffold = true;
  (void)d.commands(repair);
  return 0;
}
