// src/l4/proxy_header_reader.cpp — PROXY header from a chunk queue.
#include "l4/proxy_header_reader.h"

#include <string>

namespace ballast::l4 {

core::Result<proto::proxy_protocol::ProxyHeader> readProxyHeader(core::EventLoop& loop,
                                                                 core::ChunkQueue& received) {
  auto& chunks = loop.chunks();
  // The header nearly always arrives in the first segment; a header split across reads is
  // joined into a small copy.
  const auto& head = chunks.meta(received.head());
  std::span<const uint8_t> view(chunks.data(received.head()) + head.offset, head.length);
  std::string joined;
  if (head.length < received.bytes() && head.length < proto::proxy_protocol::kMaxHeaderBytes) {
    for (core::ChunkId id = received.head(); id != core::kNoChunk; id = chunks.meta(id).next) {
      const auto& m = chunks.meta(id);
      joined.append(reinterpret_cast<const char*>(chunks.data(id) + m.offset), m.length);
    }
    view = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(joined.data()), joined.size());
  }
  auto parsed = proto::proxy_protocol::parse(view);
  if (parsed) {
    received.consume(chunks, static_cast<uint32_t>(parsed->header_length),
                     [&loop](core::ChunkId id) { loop.releaseChunk(id); });
  }
  return parsed;
}

}  // namespace ballast::l4
