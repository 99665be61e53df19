"""Fuse the exported encoder's self-attention into ONNX Runtime's `Attention` operator.

The torch export spells each layer's self-attention as ~35 nodes: three MatMul + Add for
query, key and value, Reshape/Transpose per head, the shape arithmetic for those reshapes
(Shape, Gather, Unsqueeze, Concat), Q·Kᵀ, the mask as Where(-inf), Softmax, an IsNaN guard,
·V, Transpose and Reshape back. ONNX Runtime's own graph optimiser (ORT_ENABLE_ALL) and
`onnxruntime.transformers.optimizer` fuse LayerNorm and Gelu but do not recognise this
attention pattern (the mask comes from transformers' SDPA-style masking), so every question
paid for ~500 tiny kernels around the 72 MatMuls. `fuse_attention` replaces each layer's
nodes by one `com.microsoft.Attention` node: the query, key and value weights packed into one
[hidden, 3·hidden] MatMul, the same 1/√head_size scale, and the attention mask as an int32
[batch, tokens] input. The arithmetic is the same (the masked positions get exp(-10000)
instead of exp(-inf), both 0 in fp32), so the vectors agree with the plain graph to float
rounding; onnx_backend checks that (cosine >= 0.9999) before the graph is used.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FUSION_VERSION", "fuse_attention"]

FUSION_VERSION = 1  # bumped when fuse_attention writes a different graph: a fused file of another version is rebuilt

_SELF = "/attention/self/"


def fuse_attention(model, num_heads: int):
    """Rewrite `model` (an onnx ModelProto of the exported BERT encoder) in place; returns the number of
    layers fused. A layer whose nodes do not have the exported shape is left as it is."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    if "attention_mask" not in {i.name for i in graph.input}:
        return 0
    inits = {i.name: i for i in graph.initializer}
    for node in graph.node:  # the exporter shares equal weights through Identity nodes
        if node.op_type == "Identity" and node.input[0] in inits:
            inits.setdefault(node.output[0], inits[node.input[0]])
    by_name = {n.name: n for n in graph.node}
    prefixes = sorted({n.name[: n.name.index(_SELF) + len(_SELF)] for n in graph.node if _SELF in n.name})
    mask_name = "attention_mask_int32"
    fused = 0
    new_nodes = {}  # the node whose place the Attention node takes -> the Attention node
    drop: set[str] = set()
    for prefix in prefixes:
        proj = {}
        for part in ("query", "key", "value"):
            mm, add = by_name.get(prefix + part + "/MatMul"), by_name.get(prefix + part + "/Add")
            if mm is None or add is None or mm.input[1] not in inits:
                break
            bias = next((i for i in add.input if i in inits), None)
            if bias is None:
                break
            proj[part] = (mm.input[0], numpy_helper.to_array(inits[mm.input[1]]), numpy_helper.to_array(inits[bias]))
        dense = by_name.get(prefix[: -len("self/")] + "output/dense/MatMul")  # what reads the attention's result
        producer = next((n for n in graph.node if dense is not None and dense.input[0] in n.output), None)
        if len(proj) < 3 or producer is None or not producer.name.startswith(prefix) or len({p[0] for p in proj.values()}) != 1:
            continue
        weight = np.concatenate([proj[p][1] for p in ("query", "key", "value")], axis=1).astype(np.float32)
        bias = np.concatenate([proj[p][2] for p in ("query", "key", "value")]).astype(np.float32)
        w_name, b_name = prefix + "qkv_weight", prefix + "qkv_bias"
        graph.initializer.extend([numpy_helper.from_array(weight, w_name), numpy_helper.from_array(bias, b_name)])
        node = helper.make_node("Attention", [proj["query"][0], w_name, b_name, mask_name], [dense.input[0]],
                                name=prefix + "Attention", domain="com.microsoft", num_heads=num_heads)
        new_nodes[prefix + "query/MatMul"] = node
        drop.update(n.name for n in graph.node if n.name.startswith(prefix))
        fused += 1
    if not fused:
        return 0
    kept = []
    for node in graph.node:
        if node.name in new_nodes:
            kept.append(new_nodes[node.name])
        if node.name not in drop:
            kept.append(node)
    cast = helper.make_node("Cast", ["attention_mask"], [mask_name], name="attention_mask/CastInt32",
                            to=TensorProto.INT32)
    del graph.node[:]
    graph.node.extend([cast, *kept])
    _prune(graph)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return fused


def _prune(graph) -> None:
    """Drop nodes whose outputs nothing reads (the old mask and shape arithmetic), then unused initializers."""
    outputs = {o.name for o in graph.output}
    while True:
        used = {name for node in graph.node for name in node.input} | outputs
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)
