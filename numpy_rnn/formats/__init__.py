"""Model files: self-checking ``.npz`` bundles and the Keras ``.keras`` reader, split by job.

* bundles: ``bundle_format`` (name, version, keys, digest), ``bundle_write`` (``save``),
  ``bundle_read`` (``read_bundle`` / ``load``), ``bundle_verify`` (stored test vectors);
* ``.keras`` files: ``keras_archive`` (the zip), ``keras_layers`` (the one table of Keras layers
  and options, read by ``parity``'s bridge too), ``keras_convert`` (one layer config -> one NumPy
  layer), ``keras_plan`` (whole-model configs),
  ``keras_weights`` (HDF5 weights), ``keras_file`` (``read_keras_file`` / ``load_keras_model``);
* legacy ``.h5`` files (Keras 2 / tf_keras models, weights-only files): ``keras_h5``, read with
  the writer's semantics (``keras_layers.dialect_of``);
* ``errors``: every error these raise (``ValueError`` subclasses).

Everything here treats files as untrusted: nothing is executed, sizes are bounded
(``numpy_rnn._limits``) and every declared shape is checked before anything is allocated.
"""
