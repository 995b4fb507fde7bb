export { list as default } from "./group.js";
