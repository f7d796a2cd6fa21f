/**
 * The read side, for other flows (replay rebuilds and checks it): the projection as a
 * pure fold, and the projector that keeps a read model up to date.
 * @module
 */
export { foldEvents, type PlanWithTiers, planWithTiers, project, touchedPlanIds } from "./fold.ts";
export { emptyView, type Overlay, overlay } from "./overlay.ts";
export { type Projector, startProjector } from "./projector.ts";
