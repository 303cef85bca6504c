"""A site's practice profile: the thresholds its practice notes use (`sync.core.practice`)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from sync.core.practice import DEFAULT_PROFILE, Profile
from sync.db.model import KeyResult, PracticeProfile
from sync.errors import Invalid


def site_profile(session: Session, site_id: int) -> Profile:
    """The site's thresholds, or the defaults when it never set any."""
    row = session.get(PracticeProfile, site_id)
    if row is None:
        return DEFAULT_PROFILE
    return Profile(max_objectives=row.max_objectives, min_krs=row.min_krs, max_krs=row.max_krs)


def set_site_profile(session: Session, site_id: int, profile: Profile) -> Profile:
    """Keep the site's thresholds; every panel of the site shows its notes anew."""
    if profile.max_objectives < 1:
        raise Invalid("max objectives must be at least 1", field="max_objectives")
    if not 1 <= profile.min_krs <= profile.max_krs:
        raise Invalid("KRs per objective must be a range such as 3-5, from at least 1", field="krs")
    row = session.get(PracticeProfile, site_id)
    if row is None:
        row = PracticeProfile(site_id=site_id)
        session.add(row)
    row.max_objectives = profile.max_objectives
    row.min_krs, row.max_krs = profile.min_krs, profile.max_krs
    # Rendered panels are cached by their KRs' versions; the notes they show just changed.
    session.execute(
        update(KeyResult).where(KeyResult.site_id == site_id).values(version=KeyResult.version + 1)
    )
    session.flush()
    return profile
