// tests/unit/core/chunk_pool_test.cpp — chunk queues keep byte order across partial consumes and
// return every chunk to the pool exactly once.
#include "core/chunk_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace ballast::core {
namespace {

TEST(ChunkPool, TakeAndPutRecycleChunks) {
  ChunkPool pool(4, 64);
  std::set<ChunkId> taken;
  for (int i = 0; i < 4; ++i) {
    taken.insert(pool.take());
  }
  EXPECT_EQ(taken.size(), 4U);
  EXPECT_EQ(pool.take(), kNoChunk);  // exhausted, not a crash
  pool.put(*taken.begin());
  EXPECT_EQ(pool.take(), *taken.begin());
}

TEST(ChunkQueue, ConsumeAcrossChunksKeepsOrderAndReleasesEachOnce) {
  ChunkPool pool(8, 16);
  ChunkQueue q;
  std::vector<ChunkId> ids;
  for (int i = 0; i < 3; ++i) {
    const ChunkId id = pool.take();
    std::memset(pool.data(id), 'a' + i, 16);
    q.push(pool, id, 0, 10);
    ids.push_back(id);
  }
  EXPECT_EQ(q.bytes(), 30U);
  std::vector<ChunkId> released;
  auto release = [&](ChunkId id) { released.push_back(id); };
  q.consume(pool, 4, release);
  EXPECT_TRUE(released.empty());
  EXPECT_EQ(pool.meta(q.head()).offset, 4U);
  EXPECT_EQ(pool.data(q.head())[pool.meta(q.head()).offset], 'a');
  q.consume(pool, 10, release);  // the rest of the first chunk and 4 bytes of the second
  EXPECT_EQ(released, std::vector<ChunkId>{ids[0]});
  EXPECT_EQ(pool.data(q.head())[pool.meta(q.head()).offset], 'b');
  EXPECT_EQ(q.bytes(), 16U);
  q.clear(pool, release);
  EXPECT_EQ(released, ids);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0U);
}

}  // namespace
}  // namespace ballast::core

namespace ballast::core {
namespace {

TEST(ChunkQueue, AppendFillsTheTailBeforeTakingChunksAndReportsExhaustion) {
  ChunkPool pool(3, 8);
  ChunkQueue q;
  ASSERT_TRUE(q.append(pool, "abcde", 5));
  ASSERT_TRUE(q.append(pool, "fghijk", 6));  // 3 fill the first chunk, 3 start the second
  EXPECT_EQ(q.bytes(), 11U);
  EXPECT_EQ(pool.freeCount(), 1U);
  std::string out;
  for (ChunkId id = q.head(); id != kNoChunk; id = pool.meta(id).next) {
    out.append(reinterpret_cast<const char*>(pool.data(id) + pool.meta(id).offset),
               pool.meta(id).length);
  }
  EXPECT_EQ(out, "abcdefghijk");
  EXPECT_FALSE(q.append(pool, "0123456789012345", 16));  // needs two more chunks, one is left
  q.clear(pool, [&](ChunkId id) { pool.put(id); });
  EXPECT_EQ(pool.freeCount(), 3U);
}

}  // namespace
}  // namespace ballast::core
