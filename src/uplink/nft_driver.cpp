// src/uplink/nft_driver.cpp — a libnftables context per call: rare calls, no state to keep.
#include "uplink/nft_driver.h"

#include <nftables/libnftables.h>

#include <memory>

#include "uplink/plan.h"

namespace ballast::uplink {
namespace {

struct CtxDeleter {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};

bool run(const std::string& script, std::string* error, std::string* output) {
  std::unique_ptr<nft_ctx, CtxDeleter> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) {
    *error = "nft_ctx_new failed";
    return false;
  }
  nft_ctx_buffer_error(ctx.get());
  nft_ctx_buffer_output(ctx.get());
  const int rc = nft_run_cmd_from_buffer(ctx.get(), script.c_str());
  if (output != nullptr) {
    *output = nft_ctx_get_output_buffer(ctx.get());
  }
  if (rc != 0) {
    *error = nft_ctx_get_error_buffer(ctx.get());
    while (!error->empty() && error->back() == '\n') {
      error->pop_back();
    }
    return false;
  }
  return true;
}

std::string tableName() { return std::string(kNftFamily) + " " + kNftTable; }

}  // namespace

bool runNft(const std::string& script, std::string* error) { return run(script, error, nullptr); }

bool deleteNftTable(std::string* error) {
  // add+delete: no error whether or not it exists.
  return run("add table " + tableName() + "\ndelete table " + tableName() + "\n", error, nullptr);
}

bool nftTableExists() {
  std::string error;
  std::string out;
  return run("list table " + tableName() + "\n", &error, &out);
}

}  // namespace ballast::uplink
