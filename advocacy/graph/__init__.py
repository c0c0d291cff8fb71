"""Advocate ranking and selection: pure computation over numpy arrays and sparse graphs.

Nothing here touches Flask or the database. The caller loads one workspace into a
:class:`~advocacy.graph.inputs.RankingInput` (customers indexed ``0..n-1``) and then:

1. :func:`~advocacy.graph.components.compute_components` turns raw CRM events, mentions,
   connections and invitation history into five components in ``[0, 1]`` (engagement,
   sentiment, peer influence, reach, track record), a detractor gate and the facts that
   reasons are written from;
2. :func:`~advocacy.graph.targeting.rank_customers` fits the value model to the invitation
   history when there is enough (``learning``) and computes every customer's expected
   value per objective (``value``: how many people would act if we asked them) and ranks;
3. :func:`~advocacy.graph.reasons.explain` writes the top reasons for one customer;
4. :func:`~advocacy.graph.selection.select_advocates` chooses a set of k advocates
   (``top``, overlap-aware ``coverage``, or multi-hop ``spread``) on the same value.

Modules: ``inputs`` (input arrays and parameters), ``timeutil`` (decay, "3 weeks ago"),
``normalise`` (workspace normalisation), ``engagement``, ``sentiment``, ``network``
(interaction graph), ``pagerank``, ``influence``, ``track_record``, ``components``,
``scoring`` (objective weights, rank order), ``value``, ``learning``, ``targeting``,
``reasons``, ``selection``.
"""
