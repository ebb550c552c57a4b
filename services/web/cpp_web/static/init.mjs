// GOV.UK Frontend's JavaScript enhances the pages (error summary focus,
// notification banners, the service navigation's menu on small screens);
// every page works without it. Loaded as a file, so the CSP needs no inline script.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
