"""The input pipeline: uint8 images scaled inside the graph, batched for training
(reshuffled per epoch, resumable) and for evaluation. Used by training and evaluation."""

from __future__ import annotations


def _images(x):
    """uint8 [n, h, w] -> float32 [n, h, w, 1] in [0, 1], inside the graph."""
    import tensorflow as tf

    return tf.expand_dims(tf.cast(x, tf.float32) / 255.0, -1)


def training_batches(x, y, batch_size: int, seed: int, first_epoch: int, epochs: int):
    """Batches for epochs ``first_epoch`` .. ``epochs - 1``, reshuffled each epoch.

    Epoch e's order is a stateless shuffle keyed by (seed, e), so it does not depend
    on how many epochs ran before in this process.
    """
    import tensorflow as tf

    n = len(x)
    images, labels = tf.constant(x), tf.constant(y)

    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    return (
        tf.data.Dataset.range(first_epoch, epochs)
        .flat_map(one_epoch)
        .map(lambda idx: (_images(tf.gather(images, idx)), tf.gather(labels, idx)))
        .prefetch(tf.data.AUTOTUNE)
    )


def evaluation_batches(x, y, batch_size: int):
    import tensorflow as tf

    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(batch_size)
        .map(lambda xb, yb: (_images(xb), yb))
        .prefetch(tf.data.AUTOTUNE)
    )
