// The longest path: an upper bound on the instructions one run executes,
// taken from the analyzer's own exploration, so every loop counts with the
// iterations the analysis proved it can run (it unrolls loops one
// iteration at a time) and every local call with its callee's path.
//
// Each node the analyzer runs (a stretch of straight-line code from one
// abstract state) executes some instructions and then hands its states to
// successors, which may be joined with other nodes' states into one
// waiting state: that state's node has all of them as parents. A node is
// numbered after all its parents (they pushed its state before it was
// taken), so the nodes form a DAG in numbering order, and the longest path
// from the entry is found walking it backwards once the analysis is done.
// Every concrete run follows a chain of these nodes (a joined state covers
// each state it joined), so it executes at most that many instructions.
#pragma once

#include <cstdint>
#include <vector>

namespace hu::verifier {

class PathBound {
 public:
  // Node `node` (the analyzer's index, handed out in order) starts from the
  // states its `parents` pushed (none: the entry).
  void Started(uint32_t node, std::vector<uint32_t> parents);
  // `node` executed one instruction.
  void Step(uint32_t node) { nodes_[node].own++; }
  // The bound from the entry over every node started; 0 when none.
  uint64_t Worst() const;

 private:
  struct Node {
    uint64_t own = 0;  // instructions the node executed itself
    std::vector<uint32_t> parents;
  };
  std::vector<Node> nodes_;
};

}  // namespace hu::verifier
