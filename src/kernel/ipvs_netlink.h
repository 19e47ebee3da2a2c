// src/kernel/ipvs_netlink.h — a client for the kernel's IPVS generic netlink family over libmnl:
// list, add, change and delete services and destinations, with the kernel's own encoding (nested
// service/destination attributes, 16-byte addresses, ports in network order, {flags, mask}).
// The message codec is exposed as free functions so tests check it without a kernel.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "kernel/ipvs_types.h"

struct mnl_socket;
struct nlmsghdr;

namespace ballast::kernel {

// One request always fits: a service and a destination with all their attributes take ~200 B.
constexpr size_t kIpvsRequestBytes = 1024;
// Receive buffer: the kernel packs dump replies into skbs of up to 32 KiB when the reader's
// buffer allows it; a shorter buffer would truncate them (ENOSPC from libmnl).
constexpr size_t kIpvsReceiveBytes = 64 * 1024;

// --- codec -------------------------------------------------------------------------------------

struct IpvsRequest {
  uint16_t family_id = 0;  // from CTRL_CMD_GETFAMILY
  uint8_t cmd = 0;         // IPVS_CMD_*
  uint16_t flags = 0;      // NLM_F_* beyond NLM_F_REQUEST
  uint32_t seq = 0;
  const IpvsService* service = nullptr;  // nested IPVS_CMD_ATTR_SERVICE when set
  bool full_service = false;             // key only, or every settable attribute too
  const IpvsDest* dest = nullptr;        // nested IPVS_CMD_ATTR_DEST when set
  bool full_dest = false;
};

// Writes the request into buf (at least kIpvsRequestBytes) and returns its header there.
// Preconditions: the service's address family matches af; scheduler shorter than
// IP_VS_SCHEDNAME_MAXLEN (checked: kBadInput).
core::Result<nlmsghdr*> encodeIpvsRequest(std::span<char> buf, const IpvsRequest& req);
// CTRL_CMD_GETFAMILY for "IPVS".
nlmsghdr* encodeGetFamily(std::span<char> buf, uint32_t seq);

// Decoders of one message (a dump reply or, in tests, a request). Malformed input is kBadInput.
core::Result<IpvsService> decodeIpvsService(const nlmsghdr* nlh);
// Destinations carry their family since Linux 4.2; older replies take service_af.
core::Result<IpvsDest> decodeIpvsDest(const nlmsghdr* nlh, uint16_t service_af);
core::Result<IpvsInfo> decodeIpvsInfo(const nlmsghdr* nlh);
core::Result<uint16_t> decodeFamilyId(const nlmsghdr* nlh);

// --- client ------------------------------------------------------------------------------------

// One netlink socket, synchronous request/response. Control thread only; not thread-safe.
// Every failing call leaves a one-line explanation in lastError() ("add service tcp
// 198.18.0.10:80: File exists"), with a hint where the errno has a usual cause.
class IpvsClient {
 public:
  // Opens the socket and resolves the family. Fails with "IPVS not available: modprobe ip_vs"
  // when the kernel has no IPVS (the module is not loaded and could not be autoloaded).
  static core::Result<std::unique_ptr<IpvsClient>> open(std::string* error);
  ~IpvsClient();
  IpvsClient(const IpvsClient&) = delete;
  IpvsClient& operator=(const IpvsClient&) = delete;

  core::Result<IpvsInfo> info();
  core::Result<std::vector<IpvsService>> listServices();
  core::Result<std::vector<IpvsDest>> listDests(const IpvsService& service);

  core::Result<core::Ok> addService(const IpvsService& service);
  core::Result<core::Ok> updateService(const IpvsService& service);  // scheduler, flags, timeout
  core::Result<core::Ok> deleteService(const IpvsService& service);  // by key
  core::Result<core::Ok> addDest(const IpvsService& service, const IpvsDest& dest);
  core::Result<core::Ok> updateDest(const IpvsService& service, const IpvsDest& dest);
  core::Result<core::Ok> deleteDest(const IpvsService& service, const IpvsDest& dest);

  const std::string& lastError() const { return last_error_; }
  uint16_t familyId() const { return family_id_; }

 private:
  struct Deleter {
    void operator()(mnl_socket* s) const;
  };
  using Callback = int (*)(const nlmsghdr*, void*);

  IpvsClient() = default;
  // Sends the request in request_ and reads replies until the ack or NLMSG_DONE, handing each
  // data message to cb. On failure sets last_error_ to "<what>: <strerror>".
  core::Result<core::Ok> exchange(const nlmsghdr* nlh, Callback cb, void* data,
                                  const std::string& what);
  core::Result<core::Ok> change(uint8_t cmd, const IpvsService& service, bool full_service,
                                const IpvsDest* dest, bool full_dest, const std::string& what);

  std::unique_ptr<mnl_socket, Deleter> socket_;
  uint32_t port_id_ = 0;
  uint32_t seq_ = 0;
  uint16_t family_id_ = 0;
  std::array<char, kIpvsRequestBytes> request_{};
  std::vector<char> receive_ = std::vector<char>(kIpvsReceiveBytes);
  std::string last_error_;
};

}  // namespace ballast::kernel
