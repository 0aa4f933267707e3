#include "worst_case.hpp"

#include <algorithm>
#include <cstdint>

namespace hu::verifier {

void PathBound::Started(uint32_t node, std::vector<uint32_t> parents) {
  if (nodes_.size() <= node) nodes_.resize(node + 1);
  nodes_[node].parents = std::move(parents);
}

uint64_t PathBound::Worst() const {
  if (nodes_.empty()) return 0;
  // after[n]: the longest continuation once node n's own instructions ran.
  std::vector<uint64_t> after(nodes_.size(), 0);
  uint64_t total = 0;
  for (size_t i = nodes_.size(); i-- > 0;) {
    const Node& n = nodes_[i];
    total = n.own > UINT64_MAX - after[i] ? UINT64_MAX : n.own + after[i];
    for (uint32_t p : n.parents)
      if (p < i) after[p] = std::max(after[p], total);
  }
  return total;  // node 0's: the entry
}

}  // namespace hu::verifier
