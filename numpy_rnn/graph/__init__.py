"""The graph behind the functional :class:`numpy_rnn.Model`: symbolic tensors and nodes
(``symbolic``), the topology of a model (``topology``), the input layer (``input_layer``) and
backpropagation through a graph (``backward``).  The model itself is ``numpy_rnn.functional``.

This package's ``__init__`` imports nothing: ``numpy_rnn.layers.base`` reads ``symbolic`` (a
leaf) to send symbolic calls here, and must not pull the model in while the layers load.
"""
