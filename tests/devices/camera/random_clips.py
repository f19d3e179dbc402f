"""Short hand-made clips from the randomised scene renderers (both styles) for focused tests."""

from __future__ import annotations

from pathlib import Path

from simulators.video.actors import Drifter, Drop, Flyer, Passer, Stop, WindowEvent
from simulators.video.geometry import FacadeGeometry, LaneGeometry
from simulators.video.random_lane_plan import LanePlan
from simulators.video.random_plan import FacadePlan, Weather
from simulators.video.randomset import RandomClip, render

FAR_STOREY_PX = 24.0
THROW_T = 0.8
THROW_FLOOR = 10
TINY_T = 2.0


def far_facade(storey_px: float = FAR_STOREY_PX) -> FacadeGeometry:
    """A 14-storey block seen from far away, the camera looking slightly up."""
    k = storey_px / 3.0
    w, h = 6 * 3.2 * k, 14 * 3.0 * k
    bl, br = (500.0, 680.0), (500.0 + w, 678.0)
    return FacadeGeometry(
        14, 6, 3.0, 3.2, (bl, br, (br[0] - 6, br[1] - 0.95 * h), (bl[0] + 6, bl[1] - 0.97 * h))
    )


def small_far_throw(out: Path, style: str) -> RandomClip:
    """A 5-pixel box thrown from the 10th floor of a far facade, curtains and a TV unmasked."""
    plan = FacadePlan(
        seed=41,
        duration_s=4.5,
        fps=25.0,
        geo=far_facade(),
        weather=Weather(),
        density="low",
        drops=[
            Drop(
                t=THROW_T,
                floor=THROW_FLOOR,
                column=2,
                vu=0.6,
                vz=0.0,
                size_px=5.0,
                shape="box",
                color=(40, 40, 200),
            )
        ],
        windows=[
            WindowEvent(0.0, 6, 4, "curtain", 4.5, 0.3),
            WindowEvent(0.0, 9, 1, "flicker", 4.5, 1.0),
            WindowEvent(1.5, 4, 3, "on"),
            WindowEvent(2.6, 12, 5, "on"),
        ],
    )
    return render(out, plan, style, f"far-throw-{style}")


def tiny_night_throw(out: Path, style: str) -> RandomClip:
    """Night, clear: a 5-pixel can thrown at TINY_T from the 10th floor of a far facade."""
    plan = FacadePlan(
        seed=43,
        duration_s=5.5,
        fps=25.0,
        geo=far_facade(),
        weather=Weather(night=True),
        density="low",
        drops=[
            Drop(
                t=TINY_T,
                floor=THROW_FLOOR,
                column=3,
                vu=-0.4,
                vz=0.0,
                size_px=5.0,
                shape="can",
                color=(60, 150, 200),
            )
        ],
    )
    return render(out, plan, style, f"tiny-night-{style}")


def unmasked_windows_and_birds(out: Path, style: str) -> RandomClip:
    """Night: curtains, screens and lights switching, none masked; a bird stoops and pulls out,
    a leaf is caught by a gust. Nothing here may be reported."""
    geo = far_facade(36.0)
    k = 12.0
    plan = FacadePlan(
        seed=42,
        duration_s=5.0,
        fps=25.0,
        geo=geo,
        weather=Weather(night=True),
        density="high",
        flyers=[
            Flyer(
                t=0.3,
                x=-25.0,
                y=260.0,
                vx=150.0,
                vy=10.0,
                duration_s=4.5,
                size_px=9.0,
                mode="dive",
                dive_at=1.2,
                dive_s=0.6,
                dive_g_px=0.9 * 9.81 * k,
            )
        ],
        drifters=[
            Drifter(
                t=0.5,
                x=600.0,
                y=200.0,
                speed=18.0,
                sway=10.0,
                sway_hz=0.5,
                duration_s=4.0,
                size_px=6.0,
                color=(40, 140, 170),
                gust=30.0,
                gust_at=1.5,
            )
        ],
        windows=[
            WindowEvent(0.0, f, c, kind, 5.0, 0.7 * f)
            for f, c, kind in (
                (3, 1, "curtain"),
                (5, 4, "flicker"),
                (8, 2, "curtain"),
                (11, 0, "flicker"),
                (12, 5, "curtain"),
            )
        ]
        + [WindowEvent(0.6 * i, 2 + i, i % 6, "on" if i % 2 else "off") for i in range(8)],
        lit=[(2, 1), (4, 3), (7, 5), (9, 0), (13, 2)],
    )
    return render(out, plan, style, f"windows-{style}")


# ---------------------------------------------------------------------------------------------
# Fire lanes: a lane seen along its length, the far zone small in the picture.

LANE = LaneGeometry(
    length_m=40.0,
    width_m=4.0,
    corners=((340.0, 700.0), (940.0, 700.0), (700.0, 330.0), (580.0, 330.0)),
    zone_edges_m=(22.0,),
)
DWELL_S = 15.0
BOXES = (20.0, 55.0)  # arrival and departure of a pile of boxes in the far zone
BICYCLE = (12.0, 48.0)  # a bicycle in the near zone


def small_objects_long_stay(out: Path, style: str) -> RandomClip:
    """Boxes in the far zone and a bicycle in the near one stand for 35 s — seven times the
    background's time constant (set to 5 s), which used to absorb them in two."""
    plan = LanePlan(
        seed=43,
        duration_s=66.0,
        fps=5.0,
        geo=LANE,
        weather=Weather(),
        dwell_s=DWELL_S,
        clear_s=4.0,
        stops=[
            Stop("boxes", "FL-2", 31.0, 2.0, *BOXES, (60, 120, 170), 3.0, True, 10.0),
            Stop("bicycle", "FL-1", 12.0, 1.5, *BICYCLE, (40, 40, 40), 3.0, False, 70.0),
        ],
    )
    return render(out, plan, style, f"lane-small-{style}")


DARK_CAR = (10.5, 40.0)  # a dark car parks in the near zone at night
GAIN_STEP_T = 27.0  # ... and the exposure steps up by a quarter while it stands
DARK_TRICYCLE_T = 10.0  # a dark tricycle parks in the far zone at night and stays
PERSON_PAUSE = (18.0, 30.0)  # a person stands in front of it, then walks on
NARROW_LANE = LaneGeometry(
    length_m=30.4,
    width_m=4.1,
    corners=((123.0, 683.0), (593.7, 683.0), (144.5, 266.1), (95.6, 266.1)),
    zone_edges_m=(15.19,),
)


def dark_car_at_night(out: Path, style: str) -> RandomClip:
    """Night, snow: a bright car drives through (its light lifts the measured exposure), and
    a dark green one, within the threshold of the lane in most of its pixels, parks right
    after it in the near zone for 30 s — six times the background's time constant (set to
    5 s in the test); the exposure steps up by a quarter while it stands."""
    plan = LanePlan(
        seed=44,
        duration_s=52.0,
        fps=5.0,
        geo=NARROW_LANE,
        weather=Weather(night=True, snow=107, gains=[(GAIN_STEP_T, 1.25, 0.0)]),
        dwell_s=DWELL_S,
        clear_s=4.0,
        stops=[
            Stop("car", "FL-1", 3.9, 1.3, *DARK_CAR, (38, 106, 42), 4.4, True, -20.0),
        ],
        passers=[Passer("car", 3.6, 33.4, 1.8, -6.6, 0.0, 5.5, (0, 167, 190))],
    )
    return render(out, plan, style, f"lane-dark-car-{style}")


def dark_tricycle_stays(out: Path, style: str) -> RandomClip:
    """Night: a dark tricycle parks in the far zone and is still there when the clip ends; a
    person crosses, stands in front of it for 12 s and walks on (their ghost must not take the
    tricycle with it)."""
    u, v, speed = 31.0, 2.4, 1.2
    plan = LanePlan(
        seed=45,
        duration_s=45.0,
        fps=5.0,
        geo=LANE,
        weather=Weather(night=True),
        dwell_s=DWELL_S,
        clear_s=4.0,
        stops=[Stop("tricycle", "FL-2", u, v, DARK_TRICYCLE_T, 1e6, (45, 50, 60), 2.0, True, 20.0)],
        passers=[
            Passer(
                "person",
                PERSON_PAUSE[0] - (v - 0.8 + 2.0) / speed,
                u - 1.0,
                -2.0,
                0.0,
                speed,
                (LANE.width_m + 4.0) / speed,
                (50, 50, 70),
                pause_at=(v - 0.8 + 2.0) / speed,
                pause_s=PERSON_PAUSE[1] - PERSON_PAUSE[0],
            )
        ],
    )
    return render(out, plan, style, f"lane-dark-tricycle-{style}")


FAR_BICYCLE = (4.0, 30.0)  # a bicycle stands at the far end of the narrow lane's far zone
FAR_GAIN_STEP_T = 20.0  # ... and the exposure drops by a fifth while it stands


def far_bicycle(out: Path, style: str, night: bool = False) -> RandomClip:
    """A bicycle stands for 26 s in a far zone of 2,700 px. By day its rims and frame are 30-50
    standing pixels over a 21 x 14 picture — under the 60-pixel floor counted pixel by pixel,
    five times over it by the area it takes up; at night less of it shows. The exposure steps
    down while it stands."""
    plan = LanePlan(
        seed=46,
        duration_s=38.0,
        fps=5.0,
        geo=NARROW_LANE,
        weather=Weather(night=night, gains=[(FAR_GAIN_STEP_T, 0.8, 0.0)]),
        dwell_s=DWELL_S,
        clear_s=4.0,
        stops=[Stop("bicycle", "FL-2", 24.0, 2.2, *FAR_BICYCLE, (35, 35, 40), 2.5, True, 75.0)],
    )
    return render(out, plan, style, f"lane-far-bicycle-{style}{'-night' if night else ''}")


# A long lane seen from low down, one zone: 557 px wide at its near end, 87 px at its far end.
LONG_LANE = LaneGeometry(
    length_m=80.0,
    width_m=4.0,
    corners=((392.0, 689.0), (949.0, 690.0), (646.0, 300.0), (559.0, 299.0)),
    zone_edges_m=(),
)
FAR_END_SCOOTER = (6.0, 30.0)  # a scooter stands 66 m down it


def scooter_at_far_end(out: Path, style: str) -> RandomClip:
    """Day: a scooter stands for 24 s at the far end of a long zone, where the zone is a
    sixth as wide in the picture as at its near end; its picture is about 1 % of the zone."""
    plan = LanePlan(
        seed=48,
        duration_s=40.0,
        fps=5.0,
        geo=LONG_LANE,
        weather=Weather(),
        dwell_s=DWELL_S,
        clear_s=4.0,
        stops=[
            Stop("scooter", "FL-1", 66.0, 1.6, *FAR_END_SCOOTER, (40, 60, 150), 2.5, True, 70.0)
        ],
    )
    return render(out, plan, style, f"lane-far-end-scooter-{style}")


# ---------------------------------------------------------------------------------------------
# Exposure changes: a near facade, the camera's auto-exposure and a gust acting on it.

# The throw comes late: MOG2 learns fast for its first few hundred frames and would absorb an
# exposure change that a camera running for hours turns into foreground.
EXPOSURE_T = 9.0
EXPOSURE_FLOOR = 6


def near_facade(storey_px: float = 70.0) -> FacadeGeometry:
    """An 8-storey block seen from close by, filling most of the picture's height."""
    k = storey_px / 3.0
    w, h = 6 * 3.2 * k, 8 * 3.0 * k
    bl, br = (300.0, 690.0), (300.0 + w, 688.0)
    return FacadeGeometry(
        8, 6, 3.0, 3.2, (bl, br, (br[0] - 4, br[1] - 0.98 * h), (bl[0] + 4, bl[1] - 0.99 * h))
    )


def throw_through_exposure(
    out: Path,
    style: str,
    gains: list[tuple[float, float, float]],
    shakes: list[tuple[float, float, float]],
    stem: str,
) -> RandomClip:
    """Day, clear: a 6-pixel can thrown at EXPOSURE_T from a near facade while the exposure
    changes by `gains` (t, gain, ramp s) and the camera shakes by `shakes` (t, s, px)."""
    plan = FacadePlan(
        seed=47,
        duration_s=EXPOSURE_T + 2.5,
        fps=25.0,
        geo=near_facade(),
        weather=Weather(gains=gains, shakes=shakes),
        density="low",
        drops=[
            Drop(
                t=EXPOSURE_T,
                floor=EXPOSURE_FLOOR,
                column=2,
                vu=0.5,
                vz=0.5,
                size_px=6.0,
                shape="can",
                color=(150, 60, 170),
            )
        ],
    )
    return render(out, plan, style, f"{stem}-{style}")
