"""``brainstate._compatible_import``: the private upstream module braintools and brainpy import from."""

from __future__ import annotations

import jax
import jax.extend
import pytest

from brainstate import _compatible_import as ci


def test_it_has_what_the_ecosystem_imports_from_it():
    assert ci.Primitive is jax.extend.core.Primitive
    assert ci.get_backend is jax.extend.backend.get_backend
    assert ci.get_backend().platform == jax.devices()[0].platform


def test_safe_zip_zips_equal_lengths_and_refuses_others():
    assert ci.safe_zip([1, 2], "ab") == [(1, "a"), (2, "b")]
    assert ci.safe_zip() == []
    with pytest.raises(ValueError):
        ci.safe_zip([1, 2], [1])


def test_unzip2_splits_pairs_into_two_tuples():
    assert ci.unzip2(iter([(1, "a"), (2, "b")])) == ((1, 2), ("a", "b"))
    assert ci.unzip2([]) == ((), ())


def test_a_primitive_made_from_it_binds_and_traces():
    double = ci.Primitive("brainstate_test_double")
    double.def_impl(lambda x: 2 * x)
    double.def_abstract_eval(lambda x: x)
    assert float(double.bind(3.0)) == 6.0
    assert str(jax.make_jaxpr(double.bind)(3.0)).count("brainstate_test_double") == 1
