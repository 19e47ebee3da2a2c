// src/uplink/nft_driver.h — runs nft scripts through libnftables (one transaction per call).
#pragma once

#include <string>

namespace ballast::uplink {

// Runs `script` as one batch. False with the library's error text in *error.
bool runNft(const std::string& script, std::string* error);
// Deletes `table inet ballast_uplinks` if it exists.
bool deleteNftTable(std::string* error);
// True when the table exists now.
bool nftTableExists();

}  // namespace ballast::uplink
