import type { ConnectRouter } from "@connectrpc/connect";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { ReportService } from "../../gen/agentlearning/v1/report_service_pb.js";
import { adminService } from "../service/admin-service.js";
import type { ServiceDependencies } from "../service/dependencies.js";
import { learningService } from "../service/learning-service.js";
import { reportService } from "../service/report-service.js";
import { type HealthRegistry, registerHealth } from "./health.js";
import { registerReflection } from "./reflection.js";

/** The API services this server exposes, for health and reflection. */
export const API_SERVICES = [LearningService, AdminService, ReportService];

/** Mounts every service on the router: the API, health and reflection. */
export function routes(deps: ServiceDependencies, health: HealthRegistry): (router: ConnectRouter) => void {
  return (router) => {
    router.service(LearningService, learningService(deps));
    router.service(AdminService, adminService(deps));
    router.service(ReportService, reportService(deps));
    registerHealth(router, health);
    registerReflection(router, API_SERVICES);
  };
}
