// src/kernel/driver_factory.cpp — picks the driver the config names.
#include "kernel/driver.h"
#include "kernel/nft_driver.h"

namespace ballast::kernel {

DriverPtr makeDriver(config::KernelDriver driver, std::string* error) {
  if (driver == config::KernelDriver::kIpvs) {
    return makeIpvsDriver(error);  // src/kernel/ipvs_driver.cpp
  }
  return std::make_unique<NftDriver>();
}

}  // namespace ballast::kernel
